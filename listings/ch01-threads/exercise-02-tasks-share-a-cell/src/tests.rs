use super::*;

#[test]
fn every_task_records_its_number_per_task_times() {
    for (tasks, per_task) in [(1, 5), (3, 4), (10, 1), (0, 3)] {
        let log = take_turns(tasks, per_task);
        assert_eq!(log.len(), tasks * per_task, "{tasks} x {per_task}");
        for me in 0..tasks {
            let mine = log.iter().filter(|&&n| n == me).count();
            assert_eq!(mine, per_task, "task {me} of {tasks}");
        }
    }
}

#[test]
fn tasks_take_turns_at_each_yield() {
    // Rounds: at each yield, every other task gets its turn, so the log
    // is made of rounds in which each task records once (in an order the
    // runtime chooses).
    let (tasks, per_task) = (3, 4);
    let log = take_turns(tasks, per_task);
    for round in log.chunks(tasks) {
        let mut round = round.to_vec();
        round.sort();
        assert_eq!(
            round,
            (0..tasks).collect::<Vec<_>>(),
            "a task recorded twice before every other recorded once, so it \
             did not yield: {log:?}"
        );
    }
}
