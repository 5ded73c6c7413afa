"""The Envoy gateway of stage 2: the config template, the edge Lua script and their renderer."""
