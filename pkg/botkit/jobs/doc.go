// Package jobs runs a bot's long, side-effecting work (deploys, rollbacks,
// scales) as jobs: numbered, one per lock key across every process sharing
// a state directory (EFS in a pod), recorded, cancellable from any of those
// processes, and recovered after a crash.
//
// A bot makes a Manager at setup and runs each change through it:
//
//	m, err := jobs.New(b, jobs.Options{Dir: cfg.Jobs.StateDir, Log: env.Log(),
//		MayCancel: func() jobs.Principals { return live.Load().Jobs.Cancel }})
//	...
//	return m.Run(ctx, req, jobs.Spec{Kind: "deploy", Key: "eu-west-1/prd/api",
//		Subject: "`api` in prd", Title: "deploying `v2` to `api` in prd"},
//		func(ctx context.Context, j *jobs.Job) error {
//			j.Progress(ctx, "registering…") // one message, edited, with a Cancel button
//			j.Logf("…")                     // the log, uploaded at the end
//			return deploy(ctx)              // ctx ends on a cancel, from any process
//		})
//
// New registers `status`, `history [n]`, `cancel <n>` and the Cancel
// button: a job may be cancelled by its requester and by those
// Options.MayCancel names, besides what the bot's access rules say of the
// command `cancel` and the action CancelActionID.
//
// # Guarantees
//
//   - A job's number never repeats: it comes from a counter checked against
//     the history's tail, both under the history lock.
//   - One job per key runs at a time: the job holds the flock of its key's
//     lock file (package flock) from Begin to Finish. Begin takes the key
//     and writes its holder file under the history lock, which a refused
//     Begin holds too while it reads the holder: whoever is refused, in any
//     process, learns the job's number, requester, start and progress.
//   - A request is keyed by the event that asked for it (Request.EventID):
//     a redelivery, to this process or another, never begins a second job.
//   - Each process holds the flock of its own file in procs/ while it
//     lives. After a crash, a job still recorded as its key's holder whose
//     key lock and process lock are both free is over: the next process to
//     start, a `status`, or the next job of the key records it as
//     interrupted and edits its message. A job whose key is still locked
//     (its process lives, or a child it handed the lock to does) keeps it.
//     A process is never judged by a pid, which means nothing on another
//     host.
//   - A cancel taken by another process is a file in the job's directory
//     that the running process polls (Options.Poll).
//   - The history is append-only JSONL, written and fsynced under the
//     history lock (appends of two NFS clients may interleave otherwise).
//     Lines torn by a crash, foreign or over 1 MiB are skipped as they are
//     read; at Options.MaxHistoryBytes the file is rotated to one previous
//     generation. `history` reads the files from their end, so its cost is
//     that of the records it shows, not of the history.
//
// The layout of the state directory is in docs/architecture.md.
package jobs
