// Fault app: fails at start the way a misconfigured app does (a missing setting), exit code 3.
console.log('starting the crash demo');
console.error('Error: DATABASE_URL is not set');
console.error('    at connect (/app/db.js:12:11)');
process.exit(3);
