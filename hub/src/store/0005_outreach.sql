-- outreach/: outreach sessions, tickets, services rendered
SELECT 1;
