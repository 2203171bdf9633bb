"""What each command computes, as a `Report` (a head, streamed rows and a tail;
tables, notes and figures as data). This layer calls the core and shapes its
results; rendering writes them. Nothing here prints or draws."""
