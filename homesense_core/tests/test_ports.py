"""Free ports: below the ephemeral range, bindable, and never handed out twice while reserved."""
import socket

from homesense_core import ports


def test_ports_come_from_below_the_ephemeral_range_and_are_bindable():
    port = ports.free_port()
    assert ports.PORT_RANGE[0] <= port <= ports.PORT_RANGE[1] < 32768
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


class _Picks:
    """Stands in for SystemRandom: hands out the given ports in turn."""

    def __init__(self, *values):
        self.values = iter(values)

    def randint(self, low, high):
        return next(self.values)


def test_a_reserved_port_is_not_handed_out_again_until_it_expires(monkeypatch, tmp_path):
    monkeypatch.setattr(ports, "_reservations", lambda: tmp_path)
    monkeypatch.setattr(ports.random, "SystemRandom", lambda: _Picks(23456, 23456, 23457, 23456))
    assert ports.free_port() == 23456
    assert ports.free_port() == 23457          # 23456 is still reserved
    monkeypatch.setattr(ports, "RESERVATION_S", 0.0)
    assert ports.free_port() == 23456          # expired reservations are taken over
