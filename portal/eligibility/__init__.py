"""The scheme's validity rules, asked before the long form so that nobody fills it in vain."""
