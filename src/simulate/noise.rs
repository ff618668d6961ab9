//! The unrelated lines of the same process (HTTP, SQL, websocket, auth, cache, …) that make up
//! most of a real ganymede log, with near misses for gwmon's recognizer: other categories that
//! mention gateways and allocation, the bytes `GATEWAY_` outside a lifecycle category, a
//! `GATEWAY_PROXY` category, multi-line stack traces and HTML pages whose continuation lines have
//! no timestamp, and now and then a line longer than Docker's 16 KiB piece.

use std::io::{self, Write};

use super::rng::Rng;
use super::sink::{Data, Prio, Rec, Sink, Val, itoa};

/// Generator of unrelated records, with its own random stream and reused buffers.
pub struct Noise {
    rng: Rng,
    users: Vec<String>,
    projects: Vec<String>,
    orgs: Vec<String>,
    pool_size: u32,
    msg: String,
    path: String,
    ip: String,
    times: Vec<i64>,
}

const METHODS: [&str; 4] = ["GET", "GET", "POST", "PUT"];

impl Noise {
    pub fn new(mut rng: Rng, orgs: Vec<String>, pool_size: u32) -> Noise {
        let users = (0..400).map(|_| rng.uuid()).collect();
        let projects = (0..250).map(|_| rng.uuid()).collect();
        Noise {
            rng,
            users,
            projects,
            orgs,
            pool_size: pool_size.max(1),
            msg: String::with_capacity(256),
            path: String::with_capacity(128),
            ip: String::with_capacity(16),
            times: Vec::new(),
        }
    }

    /// Write a random number (geometric, with the given mean) of unrelated records at times
    /// spread over [from, until], in time order.
    pub fn fill<W: Write>(
        &mut self,
        from: i64,
        until: i64,
        mean: f64,
        sink: &mut Sink<W>,
    ) -> io::Result<()> {
        let k = self.rng.geometric(mean);
        if k == 0 {
            return Ok(());
        }
        self.times.clear();
        for _ in 0..k {
            let t = self.rng.range(from, until.max(from));
            self.times.push(t);
        }
        self.times.sort_unstable();
        let times = std::mem::take(&mut self.times);
        for &t in &times {
            self.write(t, sink)?;
        }
        self.times = times;
        Ok(())
    }

    fn pick<'a>(rng: &mut Rng, v: &'a [String]) -> &'a str {
        &v[rng.below(v.len() as u64) as usize]
    }

    /// Write one unrelated record at time `t`.
    pub fn write<W: Write>(&mut self, t: i64, sink: &mut Sink<W>) -> io::Result<()> {
        self.msg.clear();
        let roll = self.rng.below(10_000);
        let rng = &mut self.rng;
        let (prio, cat): (Prio, &str) = match roll {
            0..=3499 => return self.http(t, sink),
            3500..=4999 => {
                let q = match rng.below(8) {
                    0 => {
                        "SELECT gateway_id, container_name, http_port FROM gateways WHERE ready = true AND organization_id IS NULL ORDER BY gateway_id LIMIT 1 FOR UPDATE SKIP LOCKED"
                    }
                    1 => "SELECT * FROM users WHERE user_id = $1",
                    2 => {
                        "SELECT p.* FROM projects p JOIN organizations o ON o.organization_id = p.organization_id WHERE p.project_id = $1"
                    }
                    3 => "UPDATE sessions SET last_seen = now() WHERE session_id = $1",
                    4 => "SELECT count(*) FROM organizations_gateways WHERE ended IS NULL",
                    5 => "INSERT INTO events (event_id, project_id, payload) VALUES ($1, $2, $3)",
                    6 => "SELECT * FROM organizations_members WHERE organization_id = $1",
                    _ => "DELETE FROM sessions WHERE expires_at < now()",
                };
                self.msg.push_str(q);
                self.msg.push_str(" -- ");
                num(rng, &mut self.msg, 0, 40);
                self.msg.push_str("ms");
                (Prio::Debug, "SQL")
            }
            5000..=5299 => {
                if rng.chance(0.5) {
                    self.msg.push_str("Allocated ");
                    num(rng, &mut self.msg, 1, 20);
                    self.msg.push_str(" connections (pool max 20)");
                } else {
                    self.msg.push_str("Connection pool: ");
                    num(rng, &mut self.msg, 0, 12);
                    self.msg.push_str(" idle, ");
                    num(rng, &mut self.msg, 1, 20);
                    self.msg.push_str(" active, 0 waiting");
                }
                (Prio::Info, "DB")
            }
            5300..=6499 => {
                let user = Self::pick(rng, &self.users);
                let project = Self::pick(rng, &self.projects);
                match rng.below(3) {
                    0 => {
                        self.msg.push_str("Client connected: user ");
                        self.msg.push_str(user);
                        self.msg.push_str(" project ");
                        self.msg.push_str(project);
                    }
                    1 => {
                        self.msg.push_str("Client disconnected: user ");
                        self.msg.push_str(user);
                        self.msg.push_str(" after ");
                        num(rng, &mut self.msg, 1, 7200);
                        self.msg.push('s');
                    }
                    _ => {
                        self.msg.push_str("Broadcast ");
                        num(rng, &mut self.msg, 1, 60);
                        self.msg.push_str(" events to room project:");
                        self.msg.push_str(project);
                    }
                }
                (Prio::Info, "WEBSOCKET")
            }
            6500..=7299 => {
                let user = Self::pick(rng, &self.users);
                match rng.below(4) {
                    0 => {
                        self.msg.push_str("Invalid or expired token from 10.0.");
                        num(rng, &mut self.msg, 0, 9);
                        self.msg.push('.');
                        num(rng, &mut self.msg, 2, 250);
                        (Prio::Warning, "AUTH")
                    }
                    1 => {
                        self.msg.push_str("Login succeeded for user ");
                        self.msg.push_str(user);
                        self.msg.push_str(" via github");
                        (Prio::Info, "AUTH")
                    }
                    _ => {
                        self.msg.push_str("Token refreshed for user ");
                        self.msg.push_str(user);
                        (Prio::Info, "AUTH")
                    }
                }
            }
            7300..=8099 => {
                let project = Self::pick(rng, &self.projects);
                let org = Self::pick(rng, &self.orgs);
                match rng.below(3) {
                    0 => {
                        self.msg.push_str("cache hit org:");
                        self.msg.push_str(org);
                        self.msg.push_str(":members");
                    }
                    1 => {
                        self.msg.push_str("cache miss project:");
                        self.msg.push_str(project);
                        self.msg.push_str(":tree (loaded in ");
                        num(rng, &mut self.msg, 1, 90);
                        self.msg.push_str("ms)");
                    }
                    _ => {
                        self.msg.push_str("Evicted ");
                        num(rng, &mut self.msg, 0, 300);
                        self.msg.push_str(" expired keys");
                    }
                }
                (Prio::Debug, "CACHE")
            }
            8100..=8599 => {
                // A gateway-prefixed category the lifecycle rules do not cover.
                let org = Self::pick(rng, &self.orgs);
                let n = rng.range(1, i64::from(self.pool_size));
                match rng.below(4) {
                    0 => {
                        self.msg.push_str("Proxying GET /collab/sync to gw-pool-");
                        num(rng, &mut self.msg, n, n);
                        self.msg.push_str(" for org ");
                        self.msg.push_str(org);
                        (Prio::Info, "GATEWAY_PROXY")
                    }
                    1 => {
                        self.msg.push_str("Upstream 172.17.0.1:");
                        num(rng, &mut self.msg, 7100 + n, 7100 + n);
                        self.msg
                            .push_str(" responded 502 to /collab/sync, retrying (1/3)");
                        (Prio::Warning, "GATEWAY_PROXY")
                    }
                    2 => {
                        self.msg.push_str("WebSocket upgrade forwarded to org-");
                        self.msg.push_str(org);
                        self.msg.push_str(".example.com");
                        (Prio::Info, "GATEWAY_PROXY")
                    }
                    _ => {
                        self.msg
                            .push_str("Gateway already allocated check skipped for org ");
                        self.msg.push_str(org);
                        self.msg.push_str(" (websocket upgrade)");
                        (Prio::Debug, "GATEWAY_PROXY")
                    }
                }
            }
            8600..=9199 => {
                let project = Self::pick(rng, &self.projects);
                if rng.chance(0.7) {
                    self.msg.push_str("Project ");
                    self.msg.push_str(project);
                    self.msg.push_str(" saved (");
                    num(rng, &mut self.msg, 200, 900_000);
                    self.msg.push_str(" bytes, ");
                    num(rng, &mut self.msg, 1, 300);
                    self.msg.push_str(" files)");
                } else {
                    self.msg.push_str("Snapshot created for project ");
                    self.msg.push_str(project);
                }
                (Prio::Info, "PROJECTS")
            }
            9200..=9499 => {
                // The bytes GATEWAY_ and lifecycle words in an unrelated category.
                let user = Self::pick(rng, &self.users);
                let org = Self::pick(rng, &self.orgs);
                if rng.chance(0.6) {
                    self.msg.push_str("event=GATEWAY_ALLOC user=");
                    self.msg.push_str(user);
                    self.msg.push_str(" org=");
                    self.msg.push_str(org);
                    self.msg.push_str(" result=requested");
                } else {
                    self.msg.push_str("event=GATEWAY_DEALLOC org=");
                    self.msg.push_str(org);
                    self.msg
                        .push_str(" reason=idle note=\"Stopping gateway for org ");
                    self.msg.push_str(org);
                    self.msg.push('"');
                }
                (Prio::Info, "AUDIT")
            }
            9500..=9699 => {
                match rng.below(3) {
                    0 => {
                        self.msg
                            .push_str("Job cleanup-expired-sessions finished in ");
                        num(rng, &mut self.msg, 3, 900);
                        self.msg.push_str("ms (");
                        num(rng, &mut self.msg, 0, 80);
                        self.msg.push_str(" rows)");
                    }
                    1 => self.msg.push_str("Job gateway-stats queued"),
                    _ => self
                        .msg
                        .push_str("Job mail-digest skipped: nothing to send"),
                }
                (Prio::Info, "SCHEDULER")
            }
            9700..=9849 => {
                self.stack_trace();
                (Prio::Error, "HTTP")
            }
            9850..=9899 => {
                self.msg
                    .push_str("Upstream returned an HTML error page for /collab/sync:\n<html>\n<head><title>504 Gateway Time-out</title></head>\n<body>\n<center><h1>504 Gateway Time-out</h1></center>\n<hr><center>nginx/1.25.3</center>\n</body>\n</html>");
                (Prio::Warning, "GATEWAY_PROXY")
            }
            9900..=9901 if rng.chance(0.5) => {
                self.long_body();
                (Prio::Debug, "HTTP")
            }
            _ => {
                self.msg.push_str("Mail queued for user ");
                let user = Self::pick(rng, &self.users);
                self.msg.push_str(user);
                self.msg.push_str(": invitation");
                (Prio::Notice, "MAIL")
            }
        };
        sink.record(&Rec {
            t,
            prio,
            cat,
            msg: &self.msg,
            data: Data::None,
        })
    }

    /// An HTTP access line, with its details as data about half the time.
    fn http<W: Write>(&mut self, t: i64, sink: &mut Sink<W>) -> io::Result<()> {
        let rng = &mut self.rng;
        self.path.clear();
        let mut method = METHODS[rng.below(4) as usize];
        match rng.below(12) {
            0 | 1 => {
                self.path.push_str("/api/projects/");
                self.path.push_str(Self::pick(rng, &self.projects));
            }
            2 => {
                self.path.push_str("/api/projects/");
                self.path.push_str(Self::pick(rng, &self.projects));
                self.path.push_str("/files");
            }
            3 => self.path.push_str("/api/users/me"),
            4 => {
                self.path.push_str("/api/organizations/");
                self.path.push_str(Self::pick(rng, &self.orgs));
                self.path.push_str("/members");
            }
            5 => {
                method = "POST";
                self.path.push_str("/gateway/start");
            }
            6 => {
                method = "POST";
                self.path.push_str("/gateway/ready");
            }
            7 => {
                method = "POST";
                self.path.push_str("/gateway/stop");
            }
            8 | 9 => {
                method = "GET";
                self.path.push_str("/health");
            }
            10 => {
                method = "POST";
                self.path.push_str("/api/auth/refresh");
            }
            _ => self.path.push_str("/collab/ws"),
        }
        let status: u64 = match rng.below(40) {
            0 => 500,
            1 => 401,
            2 => 404,
            3 | 4 => 304,
            _ => 200,
        };
        let ms = rng.exp(25.0) as u64;
        self.msg.clear();
        self.msg.push_str(method);
        self.msg.push(' ');
        self.msg.push_str(&self.path);
        self.msg.push(' ');
        self.msg.push_str(itoa(status).as_str());
        self.msg.push(' ');
        self.msg.push_str(itoa(ms).as_str());
        self.msg.push_str("ms");
        let with_data = rng.chance(0.5);
        self.ip.clear();
        self.ip.push_str("10.0.");
        self.ip.push_str(itoa(rng.below(10)).as_str());
        self.ip.push('.');
        self.ip.push_str(itoa(2 + rng.below(250)).as_str());
        let fields = [
            ("method", Val::S(method)),
            ("path", Val::S(&self.path)),
            ("status", Val::N(status)),
            ("duration_ms", Val::N(ms)),
            ("ip", Val::S(&self.ip)),
        ];
        let prio = if status >= 500 {
            Prio::Error
        } else {
            Prio::Info
        };
        sink.record(&Rec {
            t,
            prio,
            cat: "HTTP",
            msg: &self.msg,
            data: if with_data {
                Data::Obj(&fields)
            } else {
                Data::None
            },
        })
    }

    /// A Node.js stack trace: continuation lines start with spaces, never with a digit.
    fn stack_trace(&mut self) {
        let rng = &mut self.rng;
        let project = Self::pick(rng, &self.projects);
        self.msg.push_str("Unhandled error in GET /api/projects/");
        self.msg.push_str(project);
        self.msg.push_str(
            ": TypeError: Cannot read properties of undefined (reading 'organization_id')",
        );
        let frames = [
            "    at ProjectsService.findOne (/app/dist/projects/projects.service.js:",
            "    at async GatewayService.allocate (/app/dist/gateway/gateway.service.js:",
            "    at async GatewayController.start (/app/dist/gateway/gateway.controller.js:",
            "    at async /app/node_modules/express/lib/router/layer.js:",
        ];
        let n = rng.range(2, 4) as usize;
        for f in &frames[..n] {
            self.msg.push('\n');
            self.msg.push_str(f);
            num(rng, &mut self.msg, 10, 400);
            self.msg.push(':');
            num(rng, &mut self.msg, 1, 60);
            self.msg.push(')');
        }
        if rng.chance(0.3) {
            self.msg
                .push_str("\n    context: GATEWAY_ALLOC step aborted");
        }
    }

    /// A request body dump longer than Docker's 16 KiB piece (ASCII only).
    fn long_body(&mut self) {
        self.msg.push_str("Request body for PUT /api/projects/");
        let project = Self::pick(&mut self.rng, &self.projects);
        self.msg.push_str(project);
        self.msg.push_str(": {\"nodes\":[");
        let n = self.rng.range(300, 700);
        for i in 0..n {
            if i > 0 {
                self.msg.push(',');
            }
            self.msg.push_str("{\"id\":");
            self.msg.push_str(itoa(i as u64).as_str());
            self.msg
                .push_str(",\"kind\":\"note\",\"x\":12.5,\"y\":-3,\"tag\":\"GATEWAY_ALLOC\"}");
        }
        self.msg.push_str("]}");
    }
}

/// Append a uniform integer in [lo, hi] to `msg`.
fn num(rng: &mut Rng, msg: &mut String, lo: i64, hi: i64) {
    msg.push_str(itoa(rng.range(lo, hi) as u64).as_str());
}
