// Fault app: runs but never opens a socket (stuck waiting for something), so warmup never succeeds.
console.log('waiting for the message queue...');
setInterval(() => {}, 1000);
