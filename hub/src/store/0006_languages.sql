-- lang/: further languages and recorded audio prompts
SELECT 1;
