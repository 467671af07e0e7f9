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
    let log = take_turns(2, 3);
    assert!(
        log[..3].contains(&0) && log[..3].contains(&1),
        "one task made all its records before the other made one, so it \
         did not yield: {log:?}"
    );
}
