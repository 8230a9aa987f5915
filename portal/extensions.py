"""The Flask extensions, created once here and bound to the app in create_app()."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.ratelimit import client_address

# Rows keep their loaded values after a commit: a page renders what it loaded, in any order
# around the service that committed (portal.transactions).
db = SQLAlchemy(session_options={"expire_on_commit": False})
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=client_address, default_limits=[])
