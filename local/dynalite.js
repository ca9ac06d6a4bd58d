// Runs dynalite's own cli.js (path given first, its options after), surviving clients that
// hang up mid-request. dynalite 4 rethrows a request stream's error, so one client that
// disconnects before its body is sent (a Spark task killed while it writes, as the fault tests
// do) ends the whole emulator: "Error: aborted", ECONNRESET. DynamoDB itself just drops
// that request; so do we, and every other error still ends the process.
const [cli, ...options] = process.argv.slice(2);

process.on("uncaughtException", (error) => {
  if (error && error.code === "ECONNRESET" && error.message === "aborted") {
    console.error(`dynalite: a client hung up mid-request; request dropped`);
    return;
  }
  console.error(error);
  process.exit(1);
});

process.argv = [process.argv[0], cli, ...options];
require(cli);
