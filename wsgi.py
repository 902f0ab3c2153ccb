"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from fivs import create_app

app = create_app()
