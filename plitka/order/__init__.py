"""From picture to order: quantities (kg, bags, binder), the A4 spec sheet, and the share code."""

from plitka.order.quantities import Assumptions, Quantities, area_in_m2, order_for, quantities

__all__ = ["Assumptions", "Quantities", "area_in_m2", "order_for", "quantities"]
