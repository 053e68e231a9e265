"""Qt-free domain layer: types, services, the change bus, the outbox."""
