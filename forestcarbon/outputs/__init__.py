"""What a run writes for people: the monitoring report, figures, the map, provenance."""
