"""Stage 3 internals: settings, ports, adapters, services and blueprints of the Chalice app."""
