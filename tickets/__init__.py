"""Tickets: data applications (SQ) and complaints (TS), their numbering, due dates in Chinese working days,
status transitions, staff tokens and the demand report.  Storage is the shared catalogue database."""
