"""What several test modules share: function corpora, reference checks, one-op tapes."""
