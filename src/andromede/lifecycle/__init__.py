"""The installation's lifecycle on this host: what runs (`andromede status`) and stopping it (`andromede down`)."""
