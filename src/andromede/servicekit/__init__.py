"""What every service is built from: its descriptor (servicekit.descriptor), its FastAPI app with its error format
wired in, the request dependencies its routes share, and the JSON body checks. Services import this package; the
API assembly (andromede.api) puts the services together and is imported by none of them."""
