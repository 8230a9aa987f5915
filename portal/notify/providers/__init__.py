"""Real message providers behind the NotifyBackend interface: GOV.UK Notify (notify.py) and
Amazon SES and SNS (aws.py). Which one sends is chosen in portal.notify.init_app."""
