"""Documents (PDF, HTML, Markdown, plain text, Word) read into sections and structure-aware chunks."""
