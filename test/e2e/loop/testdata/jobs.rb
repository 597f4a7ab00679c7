# The loop scenarios' job class, loaded by every Sidekiq process the rig's kubelet starts
# (sidekiq -r jobs.rb). LoopJob sleeps the service time the scenario chose and writes its start
# and its end to a log of its own process, LOOP_JOB_LOG/<pod>-<pid>.log, which the test reads
# to count every job performed exactly once, or interrupted and performed again.
require "sidekiq"

class LoopJob
  include Sidekiq::Worker

  LOG = File.open(File.join(ENV.fetch("LOOP_JOB_LOG"), "#{ENV.fetch("DYNO")}-#{Process.pid}.log"), "a")
  LOG.sync = true
  LOCK = Mutex.new

  def perform(id, seconds)
    note("start", id)
    sleep(seconds)
    note("done", id)
  end

  private

  def note(what, id)
    now = Process.clock_gettime(Process::CLOCK_REALTIME)
    LOCK.synchronize { LOG.write("#{what} #{id} #{format("%.3f", now)}\n") }
  end
end
