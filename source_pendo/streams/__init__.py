from .entities import Accounts, Features, Guides, Pages, TrackTypes, Visitors
from .rest import MetadataAccounts, MetadataVisitors, Reports, Segments

__all__ = ["Accounts", "Features", "Guides", "MetadataAccounts", "MetadataVisitors", "Pages", "Reports", "Segments", "TrackTypes", "Visitors"]
