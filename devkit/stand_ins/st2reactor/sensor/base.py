"""Stand-in for ``st2reactor.sensor.base``: the sensor base classes packs subclass."""

import abc
import time

__all__ = ["Sensor", "PollingSensor"]


class BaseSensor(abc.ABC):
    """Base of every sensor: holds the sensor service and the pack config."""

    def __init__(self, sensor_service, config=None):
        self._sensor_service = sensor_service
        self.sensor_service = sensor_service
        self._config = config or {}
        self.config = self._config

    @abc.abstractmethod
    def setup(self):
        """Run once before ``run``."""

    @abc.abstractmethod
    def run(self):
        """Run the sensor's main loop."""

    @abc.abstractmethod
    def cleanup(self):
        """Run once when the sensor stops."""

    @abc.abstractmethod
    def add_trigger(self, trigger):
        """Called when a trigger of one of this sensor's types is created (may precede setup)."""

    @abc.abstractmethod
    def update_trigger(self, trigger):
        """Called when such a trigger changes."""

    @abc.abstractmethod
    def remove_trigger(self, trigger):
        """Called when such a trigger is deleted."""


class Sensor(BaseSensor):
    """A sensor that runs its own loop in ``run``."""


class PollingSensor(BaseSensor):
    """A sensor whose ``run`` calls ``poll`` every ``poll_interval`` seconds, forever.

    As in StackStorm, an exception out of ``poll`` ends ``run`` (and the sensor process).
    """

    def __init__(self, sensor_service, config=None, poll_interval=5):
        super(PollingSensor, self).__init__(sensor_service=sensor_service, config=config)
        self._poll_interval = poll_interval

    @abc.abstractmethod
    def poll(self):
        """Look for new events and dispatch triggers."""

    def run(self):
        """Poll, sleep ``poll_interval`` seconds, repeat."""
        while True:
            self.poll()
            time.sleep(self._poll_interval)

    def get_poll_interval(self):
        """Return the poll interval in seconds."""
        return self._poll_interval

    def set_poll_interval(self, poll_interval):
        """Set the poll interval in seconds."""
        self._poll_interval = poll_interval
