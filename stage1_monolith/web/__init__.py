"""HTTP and WebSocket edge of the monolith: Flask app factory and one blueprint per resource."""
