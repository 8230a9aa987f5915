"""The back office: caseworkers claim applications from the checking queue, check and decide them."""
