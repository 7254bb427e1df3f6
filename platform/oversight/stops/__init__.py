"""The stop button (EU AI Act Art. 14(4)(e)): halt one thread, one graph, or everything."""
