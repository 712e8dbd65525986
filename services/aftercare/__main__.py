from services.host.runtime import serve

from .app import create_app

serve(create_app)
