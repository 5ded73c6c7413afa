"""Devices service: device CRUD, owner of device.* events."""
