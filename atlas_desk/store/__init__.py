"""SQLite store: schema, migrations, the single writer, repositories, FTS5 search. Qt-free."""
