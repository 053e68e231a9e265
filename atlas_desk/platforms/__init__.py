"""Qt-free async connectors to Discord, GitHub and Reddit."""
