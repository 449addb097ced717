"""Optional world tables: dated capacity, make to stock, joint production, standing controls.

Declared like the core tables of :mod:`sim.tables`, which adds them to
:data:`sim.tables.WORLD_TABLES` in the order of the data dictionary.
"""

from __future__ import annotations

from sim.table_schema import SOURCE, Column, Table

CAPACITY_SCHEDULE = Table(
    "capacity_schedule",
    "Dated changes of a facility's nameplate capacity (an expansion, a derating, a "
    "mothballing at 0). From its date on, a row sets the facility's nameplate to "
    "capacity_per_year, until the facility's next row; before its first row the nameplate "
    "is the capacity_per_year of facilities.csv. Dates lie on or after the facility's "
    "available_from and before its available_until.",
    ("facility", "date"),
    (
        Column("facility", "str", "-", "Facility id from facilities.csv.", required=True),
        Column("date", "date", "ISO date", "First day of the new capacity.", required=True),
        Column(
            "capacity_per_year",
            "float",
            "output unit per year",
            "Nameplate output capacity from the date on (0 or more).",
            required=True,
        ),
        SOURCE,
    ),
)

FINISHED_GOODS = Table(
    "finished_goods",
    "Make to stock: facility types that keep producing into a finished-goods stock when "
    "orders pause (mines, separation plants), instead of making to order. Its production "
    "plan follows orders with a smoothing time, corrected toward the stock target; it "
    "sells from stock first and runs at what it sells once storage is full. Types not "
    "listed make to order.",
    ("facility_type",),
    (
        Column("facility_type", "str", "-", "Facility type that makes to stock.", required=True),
        Column(
            "target_days",
            "float",
            "days of output",
            "Finished-goods stock it holds in steady state and rebuilds toward, in days of its "
            "output at the run start.",
            required=True,
            minimum=0.0,
        ),
        Column(
            "storage_days",
            "float",
            "days of output",
            "Most finished goods it can hold, in days of its output at the run start (at least "
            "target_days).",
            required=True,
            minimum=0.0,
        ),
        Column(
            "smoothing_days",
            "float",
            "days",
            "Time constant of its production plan, which follows orders by exponential "
            "smoothing (0: the plan is the orders, as make to order with a stock).",
            default=90.0,
            minimum=0.0,
        ),
        SOURCE,
    ),
)

JOINT_PRODUCTS = Table(
    "joint_products",
    "Joint production: plants that turn one feed into several products in fixed shares "
    "(rare-earth separation: NdPr and Dy/Tb oxide in shares set by the ore). One row per "
    "plant and product, its own output commodity included. For a plant listed here "
    "capacity_per_year and its recipe quantities are per unit of feed. Each co-product "
    "becomes a facility row 'plant:commodity' in the plant's country and stage; the plant "
    "runs for the product most in demand, and what a product's customers do not take is "
    "stocked (storage_days) and then counted as unsold.",
    ("facility", "commodity"),
    (
        Column("facility", "str", "-", "Plant id from facilities.csv.", required=True),
        Column("commodity", "str", "-", "Product commodity id.", required=True),
        Column(
            "yield_per_unit",
            "float",
            "product unit per feed unit",
            "Units of the product per unit of feed (e.g. t NdPr oxide per t REO).",
            required=True,
            minimum=0.0,
        ),
        Column(
            "storage_days",
            "float",
            "days of output",
            "Stock of the product the plant can hold, in days of its output at the run "
            "start; beyond it unsold output is counted as such.",
            default=30.0,
            minimum=0.0,
        ),
        SOURCE,
    ),
)

CONTROLS = Table(
    "controls",
    "Standing export controls: rules in force in the world itself (e.g. the US chip controls "
    "of 2022-2025), as opposed to the shocks a scenario adds. Every run applies them, the "
    "paired baseline too, so they are part of the baseline and their effect is not counted "
    "as a loss. Rows with the same id form one control (their commodities and destinations "
    "are joined); a scenario can change or suspend it with an export_control_change naming "
    "the id. A standing licence regime is taken as already administered: from its start, "
    "approved_share of each covered flow passes (no application delay).",
    ("id", "commodity", "destination"),
    (
        Column(
            "id",
            "str",
            "-",
            "Control name (the id export_control_change events use).",
            required=True,
        ),
        Column("issuer", "str", "-", "ISO3 code of the exporting country.", required=True),
        Column("commodity", "str", "-", "Commodity covered.", required=True),
        Column(
            "destination",
            "str",
            "-",
            "Importer covered: an ISO3 code, or a bloc name (the bloc's members at the time).",
            required=True,
        ),
        Column(
            "regime",
            "str",
            "-",
            "ban (every covered flow stops) or license (approved_share of each covered flow "
            "passes).",
            default="ban",
        ),
        Column(
            "approved_share",
            "float",
            "share (0-1)",
            "Licence regime: share of each covered flow that is licensed (ignored for ban).",
            default=1.0,
            minimum=0.0,
            maximum=1.0,
        ),
        Column("start", "date", "ISO date", "First day in force.", required=True),
        Column("end", "date", "ISO date", "First day no longer in force; empty means open-ended."),
        SOURCE,
    ),
)
