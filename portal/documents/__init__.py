"""Identity documents and evidence: validation by content, clean re-encoding, encrypted storage, access."""
