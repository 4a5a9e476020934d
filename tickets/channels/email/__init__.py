"""Email in (HTTP pipe and IMAP poller) and out, threaded onto tickets."""
