"""The Flask extensions, created once here and bound to the app in create_app().

The rate limiter is created with the rules of who it counts against, in portal.ratelimit.
"""

from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

# Rows keep their loaded values after a commit: a page renders what it loaded, in any order
# around the service that committed (portal.transactions).
db = SQLAlchemy(session_options={"expire_on_commit": False})
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
