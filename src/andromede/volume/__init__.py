"""Block storage (Cinder v3): volumes encrypted under keys the project holds. Its host side is in agent/."""
