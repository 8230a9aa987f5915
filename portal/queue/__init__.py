"""The checking queue: an outbox written with each submission, and two backends that hand its items
to caseworkers one at a time (the database itself, or Amazon SQS fed by a relay)."""
