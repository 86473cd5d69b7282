// Fault app: a dependency was not deployed.
import express from 'express-that-is-not-installed';
express().listen(process.env.PORT);
