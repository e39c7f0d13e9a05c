"""Canopy rasters against the register: zonal statistics, site class, volume model, flags."""
