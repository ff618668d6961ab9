//! What the operator drives: pause, the focused panel and its scroll, the sort of the open
//! allocations, the key help. Keys in, actions out; no drawing and no terminal here, so every key
//! is a unit test.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// The panels that take the focus (and scroll), in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Panel {
    #[default]
    Open,
    Failures,
    Alerts,
    Notes,
}

impl Panel {
    pub const ALL: [Panel; 4] = [Panel::Open, Panel::Failures, Panel::Alerts, Panel::Notes];

    fn index(self) -> usize {
        Panel::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// The order of the open-allocations table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sort {
    /// Held longest first.
    #[default]
    Held,
    Org,
    Gateway,
}

impl Sort {
    pub fn label(self) -> &'static str {
        match self {
            Sort::Held => "held longest",
            Sort::Org => "organization",
            Sort::Gateway => "gateway",
        }
    }

    fn next(self) -> Sort {
        match self {
            Sort::Held => Sort::Org,
            Sort::Org => Sort::Gateway,
            Sort::Gateway => Sort::Held,
        }
    }
}

/// What a key asks of the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    /// Pause was switched on: the loop keeps a copy of the state to show.
    Pause,
    Resume,
}

/// The view's state.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub paused: bool,
    pub help: bool,
    pub focus: Panel,
    pub sort: Sort,
    /// First row shown, per panel (clamped when drawn).
    pub scroll: [usize; 4],
    /// Rows each panel showed at the last draw (the page of PgUp/PgDn).
    pub page: [usize; 4],
}

impl View {
    #[cfg(test)]
    pub fn scroll_of(&self, p: Panel) -> usize {
        self.scroll[p.index()]
    }

    /// The panel was drawn with `rows` visible out of `len`: keep its scroll in range.
    pub fn drawn(&mut self, p: Panel, rows: usize, len: usize) -> usize {
        let i = p.index();
        self.page[i] = rows;
        self.scroll[i] = self.scroll[i].min(len.saturating_sub(rows));
        self.scroll[i]
    }

    pub fn key(&mut self, k: KeyEvent) -> Action {
        if k.kind != KeyEventKind::Press {
            return Action::None;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if matches!(k.code, KeyCode::Char('q')) || (ctrl && k.code == KeyCode::Char('c')) {
            return Action::Quit;
        }
        if self.help {
            // Any other key closes the help (Esc included: it does not quit from there).
            self.help = false;
            return Action::None;
        }
        let i = self.focus.index();
        let page = self.page[i].max(1);
        match k.code {
            KeyCode::Esc => return Action::Quit,
            KeyCode::Char('?') | KeyCode::Char('h') | KeyCode::F(1) => self.help = true,
            KeyCode::Char('p') | KeyCode::Char(' ') => {
                self.paused = !self.paused;
                return if self.paused {
                    Action::Pause
                } else {
                    Action::Resume
                };
            }
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                self.scroll[Panel::Open.index()] = 0;
            }
            KeyCode::Tab => self.focus = Panel::ALL[(i + 1) % Panel::ALL.len()],
            KeyCode::BackTab => {
                self.focus = Panel::ALL[(i + Panel::ALL.len() - 1) % Panel::ALL.len()];
            }
            KeyCode::Down | KeyCode::Char('j') => self.scroll[i] += 1,
            KeyCode::Up | KeyCode::Char('k') => self.scroll[i] = self.scroll[i].saturating_sub(1),
            KeyCode::PageDown => self.scroll[i] += page,
            KeyCode::PageUp => self.scroll[i] = self.scroll[i].saturating_sub(page),
            KeyCode::Home | KeyCode::Char('g') => self.scroll[i] = 0,
            // Clamped to the last page when drawn.
            KeyCode::End | KeyCode::Char('G') => self.scroll[i] = usize::MAX / 2,
            _ => {}
        }
        Action::None
    }
}

/// The key help, one line per key.
pub const HELP: [(&str, &str); 9] = [
    (
        "p, Space",
        "pause the display (reading goes on); again to resume",
    ),
    ("Tab, Shift-Tab", "move the focus between panels"),
    ("↑ ↓, j k", "scroll the focused panel"),
    ("PgUp PgDn", "scroll a page"),
    ("Home End, g G", "first / last rows"),
    (
        "s",
        "sort open allocations: held longest, organization, gateway",
    ),
    ("?, h, F1", "this help (any key closes it)"),
    ("q, Esc", "quit"),
    ("Ctrl-C", "quit"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn press(v: &mut View, code: KeyCode) -> Action {
        v.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn quit_keys() {
        let mut v = View::default();
        assert_eq!(press(&mut v, KeyCode::Char('q')), Action::Quit);
        assert_eq!(press(&mut v, KeyCode::Esc), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(v.key(ctrl_c), Action::Quit);
        // A key release is not a press.
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(v.key(release), Action::None);
    }

    #[test]
    fn pause_toggles() {
        let mut v = View::default();
        assert_eq!(press(&mut v, KeyCode::Char('p')), Action::Pause);
        assert!(v.paused);
        assert_eq!(press(&mut v, KeyCode::Char('p')), Action::Resume);
        assert!(!v.paused);
    }

    #[test]
    fn help_opens_and_any_key_closes_it_esc_included() {
        let mut v = View::default();
        press(&mut v, KeyCode::Char('?'));
        assert!(v.help);
        assert_eq!(press(&mut v, KeyCode::Esc), Action::None);
        assert!(!v.help);
        press(&mut v, KeyCode::Char('?'));
        assert_eq!(press(&mut v, KeyCode::Char('q')), Action::Quit);
    }

    #[test]
    fn tab_cycles_focus_both_ways() {
        let mut v = View::default();
        let order: Vec<Panel> = (0..5)
            .map(|_| {
                press(&mut v, KeyCode::Tab);
                v.focus
            })
            .collect();
        assert_eq!(
            order,
            [
                Panel::Failures,
                Panel::Alerts,
                Panel::Notes,
                Panel::Open,
                Panel::Failures
            ]
        );
        press(&mut v, KeyCode::BackTab);
        press(&mut v, KeyCode::BackTab);
        assert_eq!(v.focus, Panel::Notes);
    }

    #[test]
    fn scrolling_is_per_panel_and_clamped_when_drawn() {
        let mut v = View::default();
        v.drawn(Panel::Open, 5, 15);
        press(&mut v, KeyCode::PageDown);
        assert_eq!(v.scroll_of(Panel::Open), 5);
        press(&mut v, KeyCode::End);
        assert_eq!(v.drawn(Panel::Open, 5, 15), 10, "the last page");
        press(&mut v, KeyCode::Up);
        assert_eq!(v.scroll_of(Panel::Open), 9);
        press(&mut v, KeyCode::Home);
        assert_eq!(v.scroll_of(Panel::Open), 0);
        press(&mut v, KeyCode::Up);
        assert_eq!(v.scroll_of(Panel::Open), 0, "never below the first row");
        press(&mut v, KeyCode::Tab);
        press(&mut v, KeyCode::Down);
        assert_eq!(v.scroll_of(Panel::Failures), 1);
        assert_eq!(
            v.scroll_of(Panel::Open),
            0,
            "the other panel keeps its place"
        );
        // Content shorter than the panel: no scroll.
        assert_eq!(v.drawn(Panel::Failures, 10, 3), 0);
    }

    #[test]
    fn sort_cycles_and_returns_to_the_top() {
        let mut v = View::default();
        v.scroll[0] = 4;
        let sorts: Vec<Sort> = (0..3)
            .map(|_| {
                press(&mut v, KeyCode::Char('s'));
                v.sort
            })
            .collect();
        assert_eq!(sorts, [Sort::Org, Sort::Gateway, Sort::Held]);
        assert_eq!(v.scroll_of(Panel::Open), 0);
    }
}
