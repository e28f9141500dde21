"""WSGI entry point: `gunicorn wsgi:app`. Configuration comes from NSW_* environment variables."""

from gateway.app import create_app

app = create_app()
