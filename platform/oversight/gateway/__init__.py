"""Running graphs through Oversight: capturing interrupts and resuming."""
