"""The application form: questions, drafts, submission, its life after, and its typed answers."""
