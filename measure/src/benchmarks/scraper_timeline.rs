//! A timeline of one run of three scrapers over 10 planets: every request
//! as a bar from its start to its end (chapter 4).

use super::scraper::{self, LATENCY, REACTOR, SEQUENTIAL, TOKIO};
use crate::bench::{Bench, Mode, no_claims};
use crate::render::{COLORS, header};
use crate::results::{Machine, Results, Span, Unit};
use plotters::prelude::*;

pub const BENCH: Bench = Bench {
    name: "scraper-timeline",
    run,
    render,
    claims: no_claims,
    child: None,
};

/// Every request of one run at n = 10, sequential, on our reactor and on
/// tokio, as a span from its start to its end.
fn run(mode: Mode) -> Option<Results> {
    let mut spans = Vec::new();
    for series in [SEQUENTIAL, REACTOR, TOKIO] {
        let (_, _, mut requests) = scraper::scrape_once(series, 10);
        requests.sort_by_key(|r| r.1);
        for (i, (_url, start, end)) in requests.into_iter().enumerate() {
            spans.push(Span {
                series: series.into(),
                request: i as u64,
                start: start.as_nanos() as f64,
                end: end.as_nanos() as f64,
            });
        }
    }
    Some(Results {
        spans,
        ..Results::new(
            "scraper-timeline",
            Machine::this(),
            mode,
            format!(
                "one run of each scraper over 10 planets at {} ms per response; \
             each request's start and end as the scraper logged them",
                LATENCY.as_millis()
            ),
            Unit::Ns,
            Vec::new(),
        )
    })
}

/// Every request of one run as a bar from its start to its end, one
/// panel per scraper, on the same time axis.
fn timeline(r: &Results) -> String {
    let mut svg = String::new();
    {
        let mut series: Vec<&str> = Vec::new();
        for s in &r.spans {
            if !series.contains(&s.series.as_str()) {
                series.push(&s.series);
            }
        }
        let height = 240 * series.len() as u32 + 30;
        let root = SVGBackend::with_string(&mut svg, (760, height))
            .into_drawing_area();
        root.fill(&WHITE).unwrap();
        let (plot, foot) = root.split_vertically(height - 30);
        let end = r.spans.iter().map(|s| s.end).fold(0.0, f64::max) / 1e6;
        let panels = plot.split_evenly((series.len(), 1));
        for (i, (s, area)) in series.iter().zip(panels.iter()).enumerate() {
            let reqs: Vec<&Span> =
                r.spans.iter().filter(|p| p.series == *s).collect();
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{s}: {} requests, one bar each", reqs.len()),
                    ("sans-serif", 15),
                )
                .margin(10)
                .margin_right(30)
                .x_label_area_size(30)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..end * 1.02, 0.0..reqs.len() as f64)
                .unwrap();
            chart
                .configure_mesh()
                .x_desc("time since the start of the run (ms)")
                .y_desc("request")
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .draw()
                .unwrap();
            let c = COLORS[i % COLORS.len()];
            chart
                .draw_series(reqs.iter().map(|p| {
                    let y = p.request as f64;
                    Rectangle::new(
                        [(p.start / 1e6, y + 0.15), (p.end / 1e6, y + 0.85)],
                        c.filled(),
                    )
                }))
                .unwrap();
        }
        foot.draw(&Text::new(
            format!(
                "{} · mode {} · {}",
                r.machine.describe(),
                r.mode,
                "bars: each request from start to end"
            ),
            (12, 8),
            ("sans-serif", 11).into_font().color(&BLACK.mix(0.8)),
        ))
        .unwrap();
        root.present().unwrap();
    }
    format!("{}\n{svg}", header(&r.bench))
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    vec![("scraper-timeline.svg", timeline(r))]
}
