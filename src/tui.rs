//! Dashboard stage: the screens of `gwmon top`, drawn from the pool, the alert engine and the
//! recent activity (allocations and the pool in use per minute, alert transitions, the
//! follower's notes), and the view the operator drives (pause, focus, scroll, sort, help).
//! Drawing and key handling only: the command runs the loop, redrawing on a timer, never per
//! line.

mod activity;
mod draw;
mod fit;
mod view;

pub use activity::Activity;
pub use draw::{Screen, draw};
#[cfg(test)]
use view::Panel;
pub use view::{Action, View};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Engine;
    use crate::event::{Event, Kind, Origin, Reason};
    use crate::pool::{Pool, PoolConfig};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    const T0: i64 = 1_772_600_000_000;

    fn org(i: usize) -> String {
        format!("00000000-0000-4000-8000-{i:012}")
    }

    struct State {
        pool: Pool,
        engine: Engine,
        act: Activity,
        t: i64,
    }

    impl State {
        fn apply(&mut self, kind: Kind) {
            self.t += 1000;
            let mut ev = Event {
                time: self.t,
                kind,
                origin: Origin { input: 0, line: 1 },
                stream: None,
                raw: String::new(),
            };
            let mut notes = Vec::new();
            crate::alert::Replay {
                pool: &mut self.pool,
                engine: &mut self.engine,
            }
            .event(&mut ev, &mut notes);
            self.act.event(&ev);
            for d in self.pool.take_derived(&ev) {
                self.act.event(&d);
            }
            for n in &notes {
                self.act.notification(n);
            }
        }
    }

    /// 16 gateways (gw-pool-10 … gw-pool-25), 15 of them allocated, one refusal, one gateway
    /// restarting (its own log), a note of the follower.
    fn state() -> State {
        let mut pool = Pool::new(PoolConfig {
            pool_size: Some(16),
            ..PoolConfig::default()
        });
        pool.keep_derived = true;
        let mut s = State {
            pool,
            engine: Engine::new(crate::alert::Alerts::default()),
            act: Activity::default(),
            t: T0,
        };
        for i in 0..15 {
            s.apply(Kind::AllocAttempt { org: org(i) });
            s.apply(Kind::Allocated {
                org: org(i),
                gateway: format!("gw-pool-{}", 10 + i),
                port: None,
                gateway_id: None,
                recycling: false,
            });
        }
        s.apply(Kind::AllocAttempt { org: org(99) });
        s.apply(Kind::AllocFailed {
            org: org(99),
            reason: Reason::NoGatewayAvailable,
            message: "no_gateway_available".into(),
            gateway: None,
            gateway_id: None,
        });
        s.apply(Kind::IdleShutdown {
            gateway: Some("gw-pool-25".into()),
            idle_ms: 1_800_000,
            gateway_id: None,
        });
        s.act.note(
            false,
            "ganymede.log was rotated; reading the new file".into(),
        );
        s
    }

    fn render(s: &State, v: &mut View, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        let screen = Screen {
            pool: &s.pool,
            engine: &s.engine,
            act: &s.act,
            source: "ganymede.log",
            now: s.t + 12_000,
        };
        t.draw(|f| draw(f, &screen, v)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    /// Every gateway name and organization id on the screen is whole or ends in `…`.
    fn no_cut_identifiers(screen: &str) {
        for line in screen.lines() {
            for (i, _) in line.match_indices("gw-pool-") {
                let rest: String = line[i + 8..].chars().take(3).collect();
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let next = rest.chars().nth(digits.len());
                assert!(
                    digits.len() == 2
                        || next == Some('…')
                        || (digits.is_empty() && next == Some('…')),
                    "a cut gateway name in {line:?}"
                );
            }
            for (i, _) in line.match_indices("00000000-0000-4000-8000-") {
                let rest: String = line[i..].chars().take(37).collect();
                let whole = rest.chars().take(36).count() == 36
                    && rest.chars().skip(24).take(12).all(|c| c.is_ascii_digit());
                assert!(
                    whole || rest.contains('…'),
                    "a cut organization id in {line:?}"
                );
            }
        }
    }

    #[test]
    fn every_size_draws_without_a_cut_identifier() {
        let s = state();
        for (w, h) in [(80, 24), (120, 40), (60, 18), (100, 30), (200, 60)] {
            let screen = render(&s, &mut View::default(), w, h);
            no_cut_identifiers(&screen);
            assert!(screen.contains("1 FIRING"), "{w}×{h}:\n{screen}");
        }
    }

    #[test]
    fn at_80x24_every_panel_shows_legible_figures() {
        let s = state();
        let screen = render(&s, &mut View::default(), 80, 24);
        for want in [
            "15 alloc",
            "1 restarting",
            "1/16 avail",
            "failed (6.2%)",
            "in use",
            "allocs/min",
            "open 1–",
            "of 15",
            "no_gateway_available",
            "restarting now: 1",
            "pool_exhausted",
            "rotated",
        ] {
            assert!(screen.contains(want), "{want:?} at 80×24:\n{screen}");
        }
    }

    #[test]
    fn the_wide_screen_says_it_all() {
        let s = state();
        let screen = render(&s, &mut View::default(), 120, 40);
        assert!(
            screen
                .contains("15 allocated · 0 orphaned · 1 restarting · 1 of 16 available (config)"),
            "{screen}"
        );
        assert!(
            screen.contains(&org(0)) && screen.contains("gw-pool-10"),
            "{screen}"
        );
        assert!(
            screen.contains("gw-pool-25") && screen.contains("12.0s"),
            "{screen}"
        );
        assert!(
            screen.contains("15 attempts") || screen.contains("16 attempts"),
            "{screen}"
        );
    }

    #[test]
    #[ignore = "prints the screens: cargo test --lib tui::tests::print -- --ignored --nocapture"]
    fn print_screens() {
        let s = state();
        for (w, h) in [(80, 24), (120, 40)] {
            println!("{}", render(&s, &mut View::default(), w, h));
        }
    }

    #[test]
    fn a_small_terminal_says_which_size_is_needed() {
        let s = state();
        let screen = render(&s, &mut View::default(), 40, 12);
        assert!(screen.contains("needs 60×18, has 40×12"), "{screen}");
        for (w, h) in [(0, 0), (1, 1), (59, 18), (60, 17)] {
            let _ = render(&s, &mut View::default(), w, h);
        }
    }

    #[test]
    fn scrolling_sorting_pause_and_help_show() {
        let s = state();
        let mut v = View::default();
        let first = render(&s, &mut v, 80, 24);
        assert!(
            first.contains("gw-pool-10") && !first.contains("gw-pool-24"),
            "held longest first"
        );
        // Scroll the open allocations to the end (the first draw told the page size).
        v.key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE));
        let end = render(&s, &mut v, 80, 24);
        assert!(
            end.contains("gw-pool-24") && !end.contains("gw-pool-10"),
            "{end}"
        );
        assert!(end.contains("open 10–15 of 15"), "{end}");
        v.key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
        assert!(render(&s, &mut v, 80, 24).contains("open 4–9 of 15"));
        // Sort by gateway: back at the top, gw-pool-10 first.
        v.key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE));
        v.key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE));
        let by_gw = render(&s, &mut v, 120, 40);
        assert!(by_gw.contains("by gateway"), "{by_gw}");
        v.key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::NONE));
        assert!(render(&s, &mut v, 120, 40).contains("PAUSED"));
        v.key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
        let help = render(&s, &mut v, 80, 24);
        assert!(help.contains("any key closes this help"), "{help}");
        assert!(help.contains("pause the display"), "{help}");
        // Tab moves the focus: the focused panel's title is the one scrolled by the keys.
        let mut v = View::default();
        v.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        assert_eq!(v.focus, Panel::Failures);
    }
}
