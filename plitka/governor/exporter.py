"""Process-wide metrics in the Prometheus text format (prometheus-client), on PLITKA_METRICS_PORT.

The guard's readings, budget and actions, the gate's queue and the ModelManager's state are read at
scrape time; per-prediction timings are observed into histograms as predictions finish.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from plitka.governor.guard import MemoryGuard
from plitka.governor.models import ModelManager

log = logging.getLogger("plitka.governor")

SECONDS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class GovernorCollector(Collector):
    """Gauges and counters read from the guard and the ModelManager when Prometheus scrapes."""

    def __init__(self, guard: MemoryGuard, manager: ModelManager):
        self.guard = guard
        self.manager = manager

    def collect(self) -> Iterator[Metric]:
        guard = self.guard.stats()
        yield from self._memory(guard)
        yield from self._gate(guard["gate"])
        yield from self._models(self.manager.stats())

    def _memory(self, guard: dict[str, Any]) -> Iterator[Metric]:
        device = guard["device"]
        reading, peaks = guard["reading"], guard["peaks"]
        gauges = {
            "memory_budget_bytes": (
                "Bytes this process may use on the device (the cap)",
                guard["budget_bytes"],
            ),
            "memory_fraction": ("Share of the device this process may use", guard["fraction"]),
            "device_total_bytes": ("Memory of the device", reading.get("total")),
            "device_free_bytes": ("Free memory on the device, all processes", reading.get("free")),
            "process_reserved_bytes": ("Bytes held by this process's allocator", reading.get("reserved")),
            "process_allocated_bytes": ("Bytes in live tensors of this process", reading.get("allocated")),
            "peak_reserved_bytes": ("Highest reserved bytes seen by the guard", peaks.get("reserved")),
            "peak_allocated_bytes": ("Highest allocated bytes seen by the guard", peaks.get("allocated")),
            "device_utilisation_percent": ("Device busy percent (NVML)", reading.get("utilisation")),
        }
        for name, (documentation, value) in gauges.items():
            if value is not None:
                gauge = GaugeMetricFamily(f"plitka_{name}", documentation, labels=["device"])
                gauge.add_metric([device], value)
                yield gauge
        actions = CounterMetricFamily(
            "plitka_guard_actions", "Actions of the memory guard", labels=["action"]
        )
        for action, count in guard["actions"].items():
            actions.add_metric([action], count)
        yield actions

    def _gate(self, gate: dict[str, Any]) -> Iterator[Metric]:
        yield GaugeMetricFamily("plitka_queue_waiting", "Predictions waiting for the device", gate["waiting"])
        yield GaugeMetricFamily(
            "plitka_generations_in_flight", "Generations on the device now", gate["in_flight"]
        )
        yield GaugeMetricFamily(
            "plitka_queue_peak_waiting", "Most predictions that waited at once", gate["peak_waiting"]
        )
        refused = CounterMetricFamily(
            "plitka_queue_refused", "Predictions refused as busy", labels=["reason"]
        )
        refused.add_metric(["queue_full"], gate["refused_full"])
        refused.add_metric(["timeout"], gate["timed_out"])
        yield refused

    def _models(self, stats: dict[str, Any]) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "plitka_models_loaded_bytes", "Bytes of loaded model weights", stats["loaded_bytes"]
        )
        loaded = GaugeMetricFamily("plitka_model_loaded", "1 when the model is loaded", labels=["model"])
        refs = GaugeMetricFamily("plitka_model_references", "References held on the model", labels=["model"])
        for name, model in stats["models"].items():
            loaded.add_metric([name], int(model["loaded"]))
            refs.add_metric([name], model["refs"])
        yield loaded
        yield refs
        events = CounterMetricFamily("plitka_model_events", "ModelManager events", labels=["event"])
        for event, count in stats["events"].items():
            events.add_metric([event], count)
        yield events


class Telemetry:
    """The registry served on PLITKA_METRICS_PORT, with per-prediction histograms."""

    def __init__(self, guard: MemoryGuard, manager: ModelManager):
        self.registry = CollectorRegistry()
        self.registry.register(GovernorCollector(guard, manager))
        self.predictions = Counter(
            "plitka_predictions", "Finished predictions", ["engine", "status"], registry=self.registry
        )
        self.seconds = {
            step: Histogram(
                f"plitka_prediction_{step}_seconds",
                f"Seconds per prediction spent in {step}",
                buckets=SECONDS_BUCKETS,
                registry=self.registry,
            )
            for step in ("queue", "load", "diffusion", "total")
        }
        self._server: Any = None

    def observe(self, engine: str, status: str, seconds: dict[str, float]) -> None:
        self.predictions.labels(engine=engine, status=status).inc()
        for step, histogram in self.seconds.items():
            if step in seconds:
                histogram.observe(seconds[step])

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        log.info("Prometheus metrics on port %d (/metrics)", port)

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server = None
