from .entities import Accounts, Features, Guides, Pages, TrackTypes, Visitors
from .events import Events, FeatureEvents, GuideEvents, PageEvents, PollEvents, TrackEvents
from .history import VisitorHistory
from .rest import MetadataAccounts, MetadataVisitors, Reports, Segments

__all__ = [
    "Accounts",
    "Events",
    "FeatureEvents",
    "Features",
    "GuideEvents",
    "Guides",
    "MetadataAccounts",
    "MetadataVisitors",
    "PageEvents",
    "Pages",
    "PollEvents",
    "Reports",
    "Segments",
    "TrackEvents",
    "TrackTypes",
    "VisitorHistory",
    "Visitors",
]
