-- selfservice/: villagers' pre-declarations
SELECT 1;
