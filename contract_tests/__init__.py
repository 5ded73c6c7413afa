"""Black-box contract suite for the HomeSense API (run with --stage N or --base-url URL)."""
